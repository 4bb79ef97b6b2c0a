"""MOIS (행정안전부) open data: the household-waste disposal API and the administrative district names."""

from eco2.adapters.mois.districts import (
    UNLOCATED_NOTE,
    District,
    DistrictResolution,
    candidate_names,
    resolve_district,
    resolve_in,
    same_sido,
)
from eco2.adapters.mois.household_waste import HouseholdWastePage, HouseholdWasteRow, MoisHouseholdWaste

__all__ = [
    "UNLOCATED_NOTE",
    "District",
    "DistrictResolution",
    "HouseholdWastePage",
    "HouseholdWasteRow",
    "MoisHouseholdWaste",
    "candidate_names",
    "resolve_district",
    "resolve_in",
    "same_sido",
]
