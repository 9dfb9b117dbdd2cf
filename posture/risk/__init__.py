"""The risk register: deployments, scenarios and their evidence, treatments, acceptances and
exceptions. Services take the acting principal and refuse what its roles do not allow."""
