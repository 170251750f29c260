"""The import rule of docs/ARCHITECTURE.md: a module imports only its own
package or packages below it (cli > training > evaluation > model, data >
runtime), so there is no import cycle."""
import ast
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RANK = {'cli': 4, 'training': 3, 'evaluation': 2, 'model': 1, 'data': 1,
        'runtime': 0}


def _package_imports(path):
  """The dvae_jax subpackages a module imports, anywhere in it."""
  tree = ast.parse(open(path).read())
  for node in ast.walk(tree):
    names = []
    if isinstance(node, ast.ImportFrom) and node.module:
      names = [node.module] + [f'{node.module}.{a.name}' for a in node.names]
    elif isinstance(node, ast.Import):
      names = [a.name for a in node.names]
    for name in names:
      parts = name.split('.')
      if parts[0] == 'dvae_jax' and len(parts) > 1 and parts[1] in RANK:
        yield parts[1]


def test_no_module_imports_a_package_above_its_own():
  bad = []
  root = os.path.join(REPO, 'dvae_jax')
  for package in RANK:
    for folder, _, files in os.walk(os.path.join(root, package)):
      for name in files:
        if name.endswith('.py'):
          path = os.path.join(folder, name)
          for imported in set(_package_imports(path)):
            if imported != package and RANK[imported] >= RANK[package]:
              bad.append(f'{os.path.relpath(path, REPO)} imports {imported}')
  assert not bad, bad
