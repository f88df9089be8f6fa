# A composition per kernel (the original's kernel example).
{
  lts = import ./lts.nix;
}
