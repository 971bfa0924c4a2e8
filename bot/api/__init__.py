"""HTTP layer: thin routers over the hub and the libraries, one per resource."""
