"""FHIR R4: the document Bundle of each signed report version, and its store."""
