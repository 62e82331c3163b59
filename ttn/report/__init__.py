"""Reports: the paper's Table 2 and Figure 3 from result records, with honest statistics; kernel pictures."""
