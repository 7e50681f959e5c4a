from .sample_seeding import SampleKey, SeededPipeline, seed_pipeline_per_sample
from .seeded_infinite_sampler import SeededInfiniteSampler

__all__ = [
    'SampleKey', 'SeededPipeline', 'seed_pipeline_per_sample',
    'SeededInfiniteSampler'
]
