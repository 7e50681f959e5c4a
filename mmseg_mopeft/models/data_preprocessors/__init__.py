from .sam_data_preprocessor import SAMDataPreProcessor

__all__ = ['SAMDataPreProcessor']
