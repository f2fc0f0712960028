"""Small provisioners, one per resource kind, each with read / diff / create / update / delete."""
