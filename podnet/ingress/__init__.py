"""Ingress as ingress-nginx serves it: controllers, route tables, one request's outcome."""

from podnet.ingress.controllers import Controller, find_controllers
from podnet.ingress.request import Outcome, Request, handle, request
from podnet.ingress.routes import Table, build, build_all

__all__ = ["Controller", "Outcome", "Request", "Table", "build", "build_all", "find_controllers",
           "handle", "request"]
