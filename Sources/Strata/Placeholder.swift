// Placeholder: replaced by the contract.
