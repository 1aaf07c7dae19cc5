"""Who may call what: principals, their scopes and hashed keys, the route map and the warehouse binding."""
