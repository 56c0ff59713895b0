"""Cloud control-plane emulators; each backs its clusters with virtual clusters of :mod:`sandbox.kubeapi`."""
