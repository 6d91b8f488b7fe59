"""HL7 v2.5.1 over MLLP: analyzers and hospital systems in, verified results out."""
