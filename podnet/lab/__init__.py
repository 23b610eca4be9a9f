"""The lab: the only package that touches the kernel (network namespaces, links, routes)."""
