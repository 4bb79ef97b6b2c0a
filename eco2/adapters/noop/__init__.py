"""NoOp adapters: production code for deployments that turn a concern off (not test fakes)."""
