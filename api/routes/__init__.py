"""One router per resource; each route checks roles, calls a service, shapes the answer."""
