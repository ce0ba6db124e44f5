"""Page groups of the web interface: one module each, exposing ``router``
(listed in ``tracer.web.app.ROUTERS``)."""
