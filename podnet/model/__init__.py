"""The cluster model: manifests in, one immutable ``Cluster`` out."""

from podnet.model.cluster import Cluster, build
from podnet.model.load import read_paths, read_texts


def load(paths: list[str], **kwargs: object) -> Cluster:
    """Read manifests from paths (files, directories, ``-``) into a Cluster."""
    return build(read_paths(paths), **kwargs)  # type: ignore[arg-type]


__all__ = ["Cluster", "build", "load", "read_paths", "read_texts"]
