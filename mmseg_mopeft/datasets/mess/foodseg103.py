"""FoodSeg103 (General): 103 food classes and background. MESS
defines no colours: generated ones, background black."""
from mmseg.registry import DATASETS

from .base import MESSDataset
from .palette import generated_palette


@DATASETS.register_module()
class FoodSeg103Dataset(MESSDataset):
    key = 'foodseg103'
    img_suffix = '.jpg'
    METAINFO = dict(
        dataset_name='FoodSeg103',
        domain='General',
        classes=(
            'background', 'candy', 'egg tart', 'french fries', 'chocolate',
            'biscuit', 'popcorn', 'pudding', 'ice cream', 'cheese butter',
            'cake', 'wine', 'milkshake', 'coffee', 'juice', 'milk', 'tea',
            'almond', 'red beans', 'cashew', 'dried cranberries', 'soy',
            'walnut', 'peanut', 'egg', 'apple', 'date', 'apricot', 'avocado',
            'banana', 'strawberry', 'cherry', 'blueberry', 'raspberry',
            'mango', 'olives', 'peach', 'lemon', 'pear', 'fig', 'pineapple',
            'grape', 'kiwi', 'melon', 'orange', 'watermelon', 'steak', 'pork',
            'chicken duck', 'sausage', 'fried meat', 'lamb', 'sauce', 'crab',
            'fish', 'shellfish', 'shrimp', 'soup', 'bread', 'corn', 'hamburg',
            'pizza', 'hanamaki baozi', 'wonton dumplings', 'pasta', 'noodles',
            'rice', 'pie', 'tofu', 'eggplant', 'potato', 'garlic',
            'cauliflower', 'tomato', 'kelp', 'seaweed', 'spring onion', 'rape',
            'ginger', 'okra', 'lettuce', 'pumpkin', 'cucumber', 'white radish',
            'carrot', 'asparagus', 'bamboo shoots', 'broccoli', 'celery stick',
            'cilantro mint', 'snow peas', 'cabbage', 'bean sprouts', 'onion',
            'pepper', 'green beans', 'French beans', 'king oyster mushroom',
            'shiitake', 'enoki mushroom', 'oyster mushroom',
            'white button mushroom', 'salad', 'other ingredients'),
        palette=generated_palette(104, background=0),
        classes_of_interest=tuple(range(1, 104)))
