"""ttn: temporally factorized 3D convolutions (3DTT), LeNet-5 models, training, sweeps and reports."""
__version__ = "0.1.0"
