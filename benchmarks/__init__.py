"""Speed and accuracy measurements of mnist-nn beside its peers (`python -m benchmarks.run`)."""
