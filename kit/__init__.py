"""The kit's shared bottom layer: contract model, state layout, AWS clients, error classes and constants."""
