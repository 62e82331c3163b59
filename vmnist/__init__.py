"""vmnist: the Video-MNIST dataset (Ras et al., 2019), rendered from the real MNIST digits."""
__version__ = "0.1.0"
