"""Tables, engine, migrations and demo data of the session store."""
