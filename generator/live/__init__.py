"""The cluster as it is: Argo CD Applications and the serving objects compared with the spec
(`status`, `wait`), read through the Kubernetes client."""
