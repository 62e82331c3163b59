"""Reusable layers: the temporally factorized 3D convolution (3DTT) and the (2+1)D convolution."""
from ttn.layers.conv2plus1d import Conv2Plus1d, tran_intermediate_channels
from ttn.layers.conv3d_tt import PADDING_MODES, THETA_KINDS, WARP_KINDS, Conv3dTT, similarity_matrices

__all__ = [
    "Conv2Plus1d",
    "Conv3dTT",
    "PADDING_MODES",
    "THETA_KINDS",
    "WARP_KINDS",
    "similarity_matrices",
    "tran_intermediate_channels",
]
