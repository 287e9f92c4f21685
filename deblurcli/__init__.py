"""deblurcli: command-line image deblurring with pretrained weights."""

__version__ = "0.1.0"
