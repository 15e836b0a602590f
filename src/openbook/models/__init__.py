"""Models: tokenisation, the OpenVINO runtime, model contracts (manifests, reference models), encoders, builds."""
