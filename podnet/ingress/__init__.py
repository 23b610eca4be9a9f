"""Ingress as ingress-nginx serves it: controllers (``controllers``), route tables
(``routes``), one request's outcome (``request``). The package itself imports nothing, so a
command that needs one of them (`lab up` needs only the controllers) pays for that one."""
