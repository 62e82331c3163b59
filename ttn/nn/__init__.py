"""The science, in plain PyTorch: the 3DTT convolution (section 3.1), the (2+1)D convolution, LeNet-5 (section 3.3).

The fast CPU routes of `ttn.cpu` run inside LeNet-5's forward behind one switch (`LeNet5.set_cpu_routes`);
nothing here knows about threads.
"""
from ttn.nn.conv2plus1d import Conv2Plus1d, tran_intermediate_channels
from ttn.nn.conv3d_tt import PADDING_MODES, Conv3dTT, compose_matrices, similarity_matrices
from ttn.nn.convert import ConversionSummary, LayerConversion, convert_model
from ttn.nn.init import init_conv_, initialize
from ttn.nn.lenet5 import CONV_MAKERS, DEFAULT_CHANNELS, POOL, LeNet5, build_model, count_parameters, describe_layers

__all__ = [
    "CONV_MAKERS", "DEFAULT_CHANNELS", "PADDING_MODES", "POOL", "ConversionSummary", "Conv2Plus1d", "Conv3dTT",
    "LayerConversion", "LeNet5", "build_model", "compose_matrices", "convert_model", "count_parameters",
    "describe_layers", "init_conv_", "initialize", "similarity_matrices", "tran_intermediate_channels",
]
