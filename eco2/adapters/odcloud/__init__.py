"""odcloud (``api.odcloud.kr``): data.go.kr file datasets served as JSON, here KECO's collection points."""

from eco2.adapters.odcloud.client import OdcloudClient, OdcloudPage
from eco2.adapters.odcloud.collection_points import (
    DATASET_PATH,
    CollectionPoint,
    CollectionPointPage,
    KecoCollectionPoints,
)

__all__ = [
    "DATASET_PATH",
    "CollectionPoint",
    "CollectionPointPage",
    "KecoCollectionPoints",
    "OdcloudClient",
    "OdcloudPage",
]
