"""The 2D-gas CNN force model of Zharikov, Zavyalov & Sivashova (2022).

Identical point particles in the plane interact by a pair potential (:mod:`.potentials`:
Lennard-Jones, Coulomb). For a target particle, a square window around it is cut into n × n cells
and each cell holds the count of particles in it (:mod:`.descriptor`); a LeNet (:mod:`.network`)
reads that grey-scale image and predicts the force on the target, either as one of K classes per
component (:mod:`.classes`, the paper's formulation) or as a continuous vector.

Modules: :mod:`.configurations` (random particles in periodic boxes, window forces),
:mod:`.dataset` (generation, files), :mod:`.symmetry` (the square's symmetries: augmentation and
symmetrised prediction), :mod:`.model` (a trained model and its files), :mod:`.training` (recipes,
checkpoints), :mod:`.evaluation` (accuracies, force errors, majority baseline), :mod:`.baselines`
(physics predictors that show what the image can tell), :mod:`.workflow` (the CLI's file-to-file
steps).
"""
