"""podnet: the Kubernetes cluster network, predicted from manifests and built in network namespaces."""

__version__ = "0.1.0"
