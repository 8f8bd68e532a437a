"""The model by form: parameters, likelihoods and the steps of each form."""
