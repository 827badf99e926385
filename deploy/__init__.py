"""Registry and rollout: registered model packages, approval, and deployment to staging and prod."""
