"""The model of Zakharov et al. 2019 on a warp-guided generator: embedder, generator, discriminator, warp."""
