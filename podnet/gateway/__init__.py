"""The Gateway API (gateway.networking.k8s.io) as the spec defines it: Gateways and their
listeners, HTTPRoutes attached to them with the conditions a controller would set, and one
HTTP request's outcome through them."""
