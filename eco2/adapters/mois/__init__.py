"""MOIS (행정안전부) open data: the household-waste disposal API (district names: ``eco2.domain.districts``)."""

from eco2.adapters.mois.household_waste import HouseholdWastePage, HouseholdWasteRow, MoisHouseholdWaste

__all__ = [
    "HouseholdWastePage",
    "HouseholdWasteRow",
    "MoisHouseholdWaste",
]
