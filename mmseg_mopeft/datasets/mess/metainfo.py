"""Facts about the MESS benchmark datasets: class names in index order, MESS's
classes of interest (for CoI-mIoU), domain and display name.

PAXRay-4 is four binary datasets (``paxray_<structure>``), as MESS evaluates
it. CWFID keeps MESS's names but our converter maps the colours by their real
meaning (see ``prepare/cwfid.py``).
"""

MESS_DATASETS = {
    'bdd100k': dict(
        name='BDD100K',
        domain='General',
        classes=(
            'road', 'sidewalk', 'building', 'wall', 'fence', 'pole',
            'traffic light', 'traffic sign', 'vegetation', 'terrain', 'sky',
            'person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle',
            'bicycle'),
        classes_of_interest=tuple(range(19))),
    'dark_zurich': dict(
        name='Dark Zurich',
        domain='General',
        classes=(
            'unlabeled', 'road', 'sidewalk', 'building', 'wall', 'fence',
            'pole', 'traffic light', 'traffic sign', 'vegetation', 'terrain',
            'sky', 'person', 'rider', 'car', 'truck', 'bus', 'train',
            'motorcycle', 'bicycle'),
        classes_of_interest=tuple(range(1, 20))),
    'mhp_v1': dict(
        name='MHP v1',
        domain='General',
        classes=(
            'others', 'hat', 'hair', 'sunglasses', 'upper clothes', 'skirt',
            'pants', 'dress', 'belt', 'left shoe', 'right shoe', 'face',
            'left leg', 'right leg', 'left arm', 'right arm', 'bag', 'scarf',
            'torso skin'),
        classes_of_interest=tuple(range(1, 19))),
    'foodseg103': dict(
        name='FoodSeg103',
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
            'cauliflower', 'tomato', 'kelp', 'seaweed', 'spring onion',
            'rape', 'ginger', 'okra', 'lettuce', 'pumpkin', 'cucumber',
            'white radish', 'carrot', 'asparagus', 'bamboo shoots',
            'broccoli', 'celery stick', 'cilantro mint', 'snow peas',
            'cabbage', 'bean sprouts', 'onion', 'pepper', 'green beans',
            'French beans', 'king oyster mushroom', 'shiitake',
            'enoki mushroom', 'oyster mushroom', 'white button mushroom',
            'salad', 'other ingredients'),
        classes_of_interest=tuple(range(1, 104))),
    'atlantis': dict(
        name='ATLANTIS',
        domain='General',
        classes=(
            'bicycle', 'boat', 'breakwater', 'bridge', 'building', 'bus',
            'canal', 'car', 'cliff', 'culvert', 'cypress tree', 'dam',
            'ditch', 'fence', 'fire hydrant', 'fjord', 'flood', 'glaciers',
            'hot spring', 'lake', 'levee', 'lighthouse', 'mangrove', 'marsh',
            'motorcycle', 'offshore platform', 'parking meter', 'person',
            'pier', 'pipeline', 'pole', 'puddle', 'rapids', 'reservoir',
            'river', 'river delta', 'road', 'sea', 'ship', 'shoreline',
            'sidewalk', 'sky', 'snow', 'spillway', 'swimming pool', 'terrain',
            'traffic sign', 'train', 'truck', 'umbrella', 'vegetation',
            'wall', 'water tower', 'water well', 'waterfall', 'wetland'),
        classes_of_interest=tuple(range(56))),
    'dram': dict(
        name='DRAM',
        domain='General',
        classes=(
            'bird', 'boat', 'bottle', 'cat', 'chair', 'cow', 'dog', 'horse',
            'person', 'potted-plant', 'sheep', 'background'),
        classes_of_interest=tuple(range(11))),
    'isaid': dict(
        name='iSAID',
        domain='Earth Monitoring',
        classes=(
            'others', 'boat', 'storage tank', 'baseball diamond',
            'tennis court', 'basketball court', 'running track field',
            'bridge', 'truck or bus', 'car', 'helicopter', 'swimming pool',
            'traffic circle', 'soccer field', 'air plane', 'pier'),
        classes_of_interest=tuple(range(1, 16))),
    'isprs_potsdam': dict(
        name='ISPRS Potsdam',
        domain='Earth Monitoring',
        classes=(
            'road', 'building', 'grass', 'tree', 'car', 'others'),
        classes_of_interest=tuple(range(5))),
    'worldfloods': dict(
        name='WorldFloods',
        domain='Earth Monitoring',
        classes=(
            'land', 'water and flood', 'cloud'),
        classes_of_interest=(1,)),
    'floodnet': dict(
        name='FloodNet',
        domain='Earth Monitoring',
        classes=(
            'background', 'building-flooded', 'building-non-flooded',
            'road-flooded', 'road-non-flooded', 'water', 'tree', 'vehicle',
            'pool', 'grass'),
        classes_of_interest=(1, 3)),
    'uavid': dict(
        name='UAVid',
        domain='Earth Monitoring',
        classes=(
            'others', 'building', 'road', 'tree', 'grass', 'moving car',
            'parked car', 'humans'),
        classes_of_interest=tuple(range(1, 8))),
    'kvasir_instrument': dict(
        name='Kvasir-Instrument',
        domain='Medical Sciences',
        classes=(
            'others', 'tool'),
        classes_of_interest=(1,)),
    'chase_db1': dict(
        name='CHASE DB1',
        domain='Medical Sciences',
        classes=(
            'others', 'blood vessels'),
        classes_of_interest=(1,)),
    'cryonuseg': dict(
        name='CryoNuSeg',
        domain='Medical Sciences',
        classes=(
            'others', 'nuclei in cells'),
        classes_of_interest=(1,)),
    'paxray_lungs': dict(
        name='PAXRay-4 (lungs)',
        domain='Medical Sciences',
        classes=(
            'others', 'lung'),
        classes_of_interest=(1,)),
    'paxray_mediastinum': dict(
        name='PAXRay-4 (mediastinum)',
        domain='Medical Sciences',
        classes=(
            'others', 'mediastinum'),
        classes_of_interest=(1,)),
    'paxray_bones': dict(
        name='PAXRay-4 (bones)',
        domain='Medical Sciences',
        classes=(
            'others', 'bones'),
        classes_of_interest=(1,)),
    'paxray_diaphragm': dict(
        name='PAXRay-4 (diaphragm)',
        domain='Medical Sciences',
        classes=(
            'others', 'diaphragm'),
        classes_of_interest=(1,)),
    'corrosion_cs': dict(
        name='Corrosion CS',
        domain='Engineering',
        classes=(
            'others', 'steel with fair corrosion',
            'steel with poor corrosion', 'steel with severe corrosion'),
        classes_of_interest=tuple(range(1, 4))),
    'deepcrack': dict(
        name='DeepCrack',
        domain='Engineering',
        classes=(
            'concrete or asphalt', 'crack'),
        classes_of_interest=(1,)),
    'pst900': dict(
        name='PST900',
        domain='Engineering',
        classes=(
            'background', 'fire extinguisher', 'backpack', 'drill', 'human'),
        classes_of_interest=tuple(range(1, 5))),
    'zerowaste': dict(
        name='ZeroWaste-f',
        domain='Engineering',
        classes=(
            'background or trash', 'rigid plastic', 'cardboard', 'metal',
            'soft plastic'),
        classes_of_interest=tuple(range(1, 5))),
    'suim': dict(
        name='SUIM',
        domain='Agriculture and Biology',
        classes=(
            'background (waterbody)', 'human diver',
            'aquatic plants and sea-grass', 'wrecks and ruins',
            'robots (auvs/rovs/instruments)', 'reefs and invertebrates',
            'fish and vertebrates', 'sea-floor and rocks'),
        classes_of_interest=tuple(range(1, 8))),
    'cub_200': dict(
        name='CUB-200',
        domain='Agriculture and Biology',
        classes=(
            'background', 'Black-footed Albatross', 'Laysan Albatross',
            'Sooty Albatross', 'Groove billed Ani', 'Crested Auklet',
            'Least Auklet', 'Parakeet Auklet', 'Rhinoceros Auklet',
            'Brewer Blackbird', 'Red winged Blackbird', 'Rusty Blackbird',
            'Yellow-headed Blackbird', 'Bobolink', 'Indigo Bunting',
            'Lazuli Bunting', 'Painted Bunting', 'Cardinal',
            'Spotted Catbird', 'Gray Catbird', 'Yellow-breasted Chat',
            'Eastern Towhee', 'Chuck will Widow', 'Brandt Cormorant',
            'Red-faced Cormorant', 'Pelagic Cormorant', 'Bronzed Cowbird',
            'Shiny Cowbird', 'Brown Creeper', 'American Crow', 'Fish Crow',
            'Black-billed Cuckoo', 'Mangrove Cuckoo', 'Yellow-billed Cuckoo',
            'Gray-crowned Rosy-Finch', 'Purple Finch', 'Northern Flicker',
            'Acadian Flycatcher', 'Great Crested Flycatcher',
            'Least Flycatcher', 'Olive-sided Flycatcher',
            'Scissor-tailed Flycatcher', 'Vermilion Flycatcher',
            'Yellow-bellied Flycatcher', 'Frigatebird', 'Northern Fulmar',
            'Gadwall', 'American Goldfinch', 'European Goldfinch',
            'Boat-tailed Grackle', 'Eared Grebe', 'Horned Grebe',
            'Pied-billed Grebe', 'Western Grebe', 'Blue Grosbeak',
            'Evening Grosbeak', 'Pine Grosbeak', 'Rose-breasted Grosbeak',
            'Pigeon Guillemot', 'California Gull', 'Glaucous-winged Gull',
            'Heermann Gull', 'Herring Gull', 'Ivory Gull', 'Ring-billed Gull',
            'Slaty-backed Gull', 'Western Gull', 'Anna Hummingbird',
            'Ruby-throated Hummingbird', 'Rufous Hummingbird',
            'Green Violetear', 'Long-tailed Jaeger', 'Pomarine Jaeger',
            'Blue Jay', 'Florida Jay', 'Green Jay', 'Dark-eyed Junco',
            'Tropical Kingbird', 'Gray Kingbird', 'Belted Kingfisher',
            'Green Kingfisher', 'Pied Kingfisher', 'Ringed Kingfisher',
            'White-breasted Kingfisher', 'Red-legged Kittiwake',
            'Horned Lark', 'Pacific Loon', 'Mallard', 'Western Meadowlark',
            'Hooded Merganser', 'Red-breasted Merganser', 'Mockingbird',
            'Nighthawk', 'Clark Nutcracker', 'White-breasted Nuthatch',
            'Baltimore Oriole', 'Hooded Oriole', 'Orchard Oriole',
            'Scott Oriole', 'Ovenbird', 'Brown Pelican', 'White Pelican',
            'Western Wood-Pewee', 'Sayornis', 'American Pipit',
            'Whip-poor-Will', 'Horned Puffin', 'Common Raven',
            'White-necked Raven', 'American Redstart', 'Geococcyx',
            'Loggerhead Shrike', 'Great Grey Shrike', 'Baird Sparrow',
            'Black-throated Sparrow', 'Brewer Sparrow', 'Chipping Sparrow',
            'Clay-colored Sparrow', 'House Sparrow', 'Field Sparrow',
            'Fox Sparrow', 'Grasshopper Sparrow', 'Harris Sparrow',
            'Henslow Sparrow', 'Le Conte Sparrow', 'Lincoln Sparrow',
            'Nelson Sharp-tailed Sparrow', 'Savannah Sparrow',
            'Seaside Sparrow', 'Song Sparrow', 'Tree Sparrow',
            'Vesper Sparrow', 'White-crowned Sparrow',
            'White-throated Sparrow', 'Cape Glossy Starling', 'Bank Swallow',
            'Barn Swallow', 'Cliff Swallow', 'Tree Swallow',
            'Scarlet Tanager', 'Summer Tanager', 'Artic Tern', 'Black Tern',
            'Caspian Tern', 'Common Tern', 'Elegant Tern', 'Forsters Tern',
            'Least Tern', 'Green-tailed Towhee', 'Brown Thrasher',
            'Sage Thrasher', 'Black-capped Vireo', 'Blue-headed Vireo',
            'Philadelphia Vireo', 'Red-eyed Vireo', 'Warbling Vireo',
            'White-eyed Vireo', 'Yellow-throated Vireo',
            'Bay-breasted Warbler', 'Black-and-white Warbler',
            'Black-throated Blue Warbler', 'Blue-winged Warbler',
            'Canada Warbler', 'Cape May Warbler', 'Cerulean Warbler',
            'Chestnut-sided Warbler', 'Golden-winged Warbler',
            'Hooded Warbler', 'Kentucky Warbler', 'Magnolia Warbler',
            'Mourning Warbler', 'Myrtle Warbler', 'Nashville Warbler',
            'Orange-crowned Warbler', 'Palm Warbler', 'Pine Warbler',
            'Prairie Warbler', 'Prothonotary Warbler', 'Swainson Warbler',
            'Tennessee Warbler', 'Wilson Warbler', 'Worm-eating Warbler',
            'Yellow Warbler', 'Northern Waterthrush', 'Louisiana Waterthrush',
            'Bohemian Waxwing', 'Cedar Waxwing',
            'American Three-toed Woodpecker', 'Pileated Woodpecker',
            'Red-bellied Woodpecker', 'Red-cockaded Woodpecker',
            'Red-headed Woodpecker', 'Downy Woodpecker', 'Bewick Wren',
            'Cactus Wren', 'Carolina Wren', 'House Wren', 'Marsh Wren',
            'Rock Wren', 'Winter Wren', 'Common Yellowthroat'),
        classes_of_interest=tuple(range(1, 201))),
    'cwfid': dict(
        name='CWFID',
        domain='Agriculture and Biology',
        classes=(
            'ground', 'crop seedling', 'weed'),
        classes_of_interest=(1, 2)),
}


def mess_metainfo(key: str) -> dict:
    """``METAINFO`` for a dataset class: classes in index order, MESS's
    classes of interest, domain and display name."""
    info = MESS_DATASETS[key]
    return dict(
        classes=info['classes'],
        classes_of_interest=info['classes_of_interest'],
        domain=info['domain'],
        dataset_name=info['name'])
