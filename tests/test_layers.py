"""The import rule of docs/ARCHITECTURE.md: a module imports only its own
package or packages below it (cli > training > evaluation > config_rules >
model, data > runtime), so there is no import cycle."""
import ast
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Subpackages, and config_rules.py: a layer of one module, above the model
# (whose choices it knows) and the data, below everything that checks a config.
RANK = {'cli': 5, 'training': 4, 'evaluation': 3, 'config_rules': 2,
        'model': 1, 'data': 1, 'runtime': 0}


def _package_imports(path):
  """The dvae_jax layers (RANK) a module imports, anywhere in it."""
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


def _modules(layer):
  """The .py files of a layer: a subpackage's, or the one module's."""
  path = os.path.join(REPO, 'dvae_jax', layer)
  if not os.path.isdir(path):
    assert os.path.isfile(path + '.py'), f'no dvae_jax/{layer}(.py)'
    yield path + '.py'
    return
  for folder, _, files in os.walk(path):
    for name in files:
      if name.endswith('.py'):
        yield os.path.join(folder, name)


def test_no_module_imports_a_package_above_its_own():
  bad = []
  for layer in RANK:
    for path in _modules(layer):
      for imported in set(_package_imports(path)):
        if imported != layer and RANK[imported] >= RANK[layer]:
          bad.append(f'{os.path.relpath(path, REPO)} imports {imported}')
  assert not bad, bad
