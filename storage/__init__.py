"""The database: models, migrations, encryption of secrets, the serve lock, storage health."""
