# Several compositions in one project: name -> composition.
{
  alpha = import ./alpha.nix;
  beta = import ./beta.nix;
}
