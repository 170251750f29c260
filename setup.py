"""dvae_jax: disentangling factors of variation with adversarial training, in JAX."""
import setuptools

setuptools.setup(
    name='dvae_jax',
    version='0.1.0',
    description=('Mathieu et al. (NIPS 2016), "Disentangling factors of '
                 'variation in deep representations using adversarial '
                 'training", in JAX/Flax.'),
    packages=setuptools.find_packages(include=['dvae_jax', 'dvae_jax.*']),
    python_requires='>=3.10',
    install_requires=[
        'jax==0.10.2',
        'jaxlib==0.10.2',
        'flax==0.12.8',
        'optax==0.2.8',
        'orbax-checkpoint==0.12.8',
        'tensorflow-datasets==4.9.10',
        # tfds 4.9.10 needs it but declares it only for Python < 3.9 (#11212).
        'importlib_resources==7.1.0',
        'tensorflow-cpu==2.21.0',  # tf.data for the input pipeline
        'ml-collections==1.1.0',
        'clu==0.0.12',  # metric writers (TensorBoard + console)
        'tensorboard==2.21.0',
        'numpy==2.4.6',
        'pillow==13.0.0',
        'scikit-learn==1.9.1',  # identity probes
        'scikit-image==0.26.0',  # SSIM and the digits' skeletons (evaluation)
        'h5py==3.14.0',  # 2D Sprites .mat (HDF5) files
        'scipy==1.17.1',  # 2D Sprites split file (MATLAB v5 .mat)
        'absl-py==2.5.1',
        'etils==1.15.0',  # epath: workdirs on gs:// as well as local disk
    ],
    extras_require={'test': ['pytest==9.2.0', 'pytest-timeout==2.4.0',
                             'pytest-xdist==3.8.0',
                             'hypothesis==6.170.17']},
)
