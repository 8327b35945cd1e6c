"""The bundled demo website and its adapter: the target of the demo and of every browser test."""
