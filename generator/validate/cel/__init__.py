"""The CEL rules of CRDs (x-kubernetes-validations), evaluated as the API server does."""
