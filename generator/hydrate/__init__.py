"""`gitopsgen hydrate`: the rendered manifests of every Application, committed to environment
branches in the shape Argo CD's commit server writes (the Source Hydrator contract GitOps Promoter
reads), and the offline checks of what GitOps Promoter documents but does not enforce."""
