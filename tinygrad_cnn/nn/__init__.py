"""Neural-network layers, initialisers and the functional API (F)."""
