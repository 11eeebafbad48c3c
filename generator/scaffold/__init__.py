"""What `gitopsgen init` writes into a team's repository and `gitopsgen upgrade` keeps current:
the serving chart and app shipped inside the package, a spec and the files around it."""
