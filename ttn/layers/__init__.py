"""Reusable layers: the temporally factorized 3D convolution (3DTT), the (2+1)D convolution, and a faster
CPU route for 3D convolutions of one input channel (`Conv3d`, `conv3d`)."""
from ttn.layers.conv2plus1d import Conv2Plus1d, tran_intermediate_channels
from ttn.layers.fast_conv import Conv3d, conv3d
from ttn.layers.conv3d_tt import PADDING_MODES, THETA_KINDS, WARP_KINDS, Conv3dTT, similarity_matrices

__all__ = [
    "Conv3d",
    "conv3d",
    "Conv2Plus1d",
    "Conv3dTT",
    "PADDING_MODES",
    "THETA_KINDS",
    "WARP_KINDS",
    "similarity_matrices",
    "tran_intermediate_channels",
]
