# Configuration labels as the papers name them (bench label -> figure label).
name(c) = c eq "nonnested" ? "non-nested" : \
          c eq "nested" ? "nested (conventional)" : \
          c eq "vsbypass-net" ? "VSBypass (UDP, paper)" : \
          c eq "vsbypass-vport" ? "VSBypass (virtio-serial)" : c
vname(c) = c eq "vmet" ? "V-Met (IDS in L0)" : c eq "in-l1" ? "IDS inside L1" : \
           c eq "nonnested" ? "IDS, non-nested VM" : c
mname(c) = c eq "off" ? "off (vanilla L0)" : c eq "noop" ? "noop (no cipher)" : \
           c eq "aes" ? "aes (VMCrypt)" : c
