"""The twin's categories are the chain's: one name and one personal flag for each."""

from contracts import DATA_CATEGORIES
from twin_core.categories import CATEGORIES


def test_every_twin_category_is_registered_on_chain_with_the_same_personal_flag():
    mismatched = {name: (cat.personal, DATA_CATEGORIES.get(name))
                  for name, cat in CATEGORIES.items()
                  if DATA_CATEGORIES.get(name) is not cat.personal}
    assert mismatched == {}
