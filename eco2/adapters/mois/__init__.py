"""MOIS (행정안전부) open data: the household-waste disposal API and the administrative district names."""

from eco2.adapters.mois.districts import District, DistrictResolution, resolve_district, same_sido
from eco2.adapters.mois.household_waste import HouseholdWastePage, HouseholdWasteRow, MoisHouseholdWaste

__all__ = [
    "District",
    "DistrictResolution",
    "HouseholdWastePage",
    "HouseholdWasteRow",
    "MoisHouseholdWaste",
    "resolve_district",
    "same_sido",
]
